-- An exchange is counted against a consent once: a gateway that asks
-- again about the same exchange is answered without a second use.
CREATE UNIQUE INDEX consent_uses_exchange ON consent_uses (consent_id, exchange_id);
