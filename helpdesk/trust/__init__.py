"""Trust: the audit trail and its check, retention and purging, erasure, and their admin pages."""
