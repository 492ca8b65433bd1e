"""The customer's conversation: what Heed tells the customer (notices, through an outbox, by
email or SMS, in their language) and what the customer says back (email replies, SMS)."""
