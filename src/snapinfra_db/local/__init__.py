"""A DynamoDB on the operator's machine: DynamoDB Local's jar (`jar`), running a server process
(`process`), choosing, starting, reusing and stopping an engine (`engine`), and its records (`state`)."""
