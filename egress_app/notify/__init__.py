"""Sending one alert to one channel: email through Django's email backend, chat services
through Apprise, and a generic webhook signed with HMAC-SHA256. Knows no models: the actions
hand it a channel's kind, its recipients and its decrypted secrets."""
