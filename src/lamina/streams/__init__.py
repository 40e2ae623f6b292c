"""Table change streams: row changes of the user's databases, delivered as DynamoDB stream records."""
