"""Feed items the end-to-end tests serve, written once: each fires a known rule of the example
watchlist examples/watchlists/sms-vendors.yaml, so a test that needs "an alert" takes one here."""

from __future__ import annotations

MITTO = {  # vendor-surveillance: high
    "title": "Mitto AG co-founder sold SS7 access",
    "link": "https://news.example.com/mitto",
    "description": "Surveillance firms used the SMS aggregator's network, a report says.",
}
MITTO_SS7 = {  # vendor-surveillance: high (another story, at another address)
    "title": "Mitto AG co-founder sold SS7 access to locate phones",
    "link": "https://news.example.com/mitto-ss7",
    "description": "The SMS aggregator's network was used for surveillance, a report says.",
}
KALEYRA = {  # vendor-breach: medium
    "title": "Kaleyra confirms data breach",
    "link": "https://news.example.com/kaleyra",
    "description": "Customer records leaked, the CPaaS provider said.",
}
