"""Chinese CRM message understanding: text -> intent + normalized entities (Rasa /model/parse shape)."""
