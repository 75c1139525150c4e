"""Results stores: one interface, an embedded SQLite twin and DynamoDB."""
