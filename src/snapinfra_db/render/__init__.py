"""Views: what people (rich) and machines (JSON) read. Nothing here calls AWS; nothing below here
imports rich."""
