"""Digital chain building blocks: QAM modem and 5G LDPC code (plus framing and source coding)."""
