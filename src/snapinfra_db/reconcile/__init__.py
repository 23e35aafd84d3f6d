"""Catalog against live DynamoDB: read and reflect (`live`), compare (`diff`, pure), the typed steps
(`plan`), their API calls (`requests`, pure), and carrying them out (`executor`)."""
