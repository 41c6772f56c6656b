"""Personal data duties as product features (GDPR): retention, the data subject's rights,
the register of their requests, encryption at rest and the controller's records.

* :mod:`agi.privacy.retention`: purge past ``[privacy]`` periods (art. 5(1)(e)).
* :mod:`agi.privacy.rights`: rectification, restriction, objection, access/portability,
  erasure, and the register of requests with their art. 12(3) deadlines.
* :mod:`agi.privacy.crypto` and :mod:`agi.privacy.sealed`: transcripts and free text
  encrypted at rest, keys outside the database (art. 32).
"""

from agi.privacy.crypto import Keyring, KeyringError, load_keyring
from agi.privacy.retention import caller_number, cutoffs, purge_forever, run_purge
from agi.privacy.rights import PrivacyRights, due_date, health_fields, may_contact
from agi.privacy.sealed import SealedStore

__all__ = ["Keyring", "KeyringError", "PrivacyRights", "SealedStore", "caller_number",
           "cutoffs", "due_date", "health_fields", "load_keyring", "may_contact",
           "purge_forever", "run_purge"]
