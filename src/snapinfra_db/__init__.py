"""snapinfra-db: a fleet of DynamoDB tables from a declarative catalog."""

__version__ = "0.1.0"
