"""Change governance: what a change touches and how risky it is, for change boards and auditors."""
