"""The sha256 of each shipped MANIFEST, pinned in the package: opening or verifying a shipped
file checks its folder's MANIFEST against it, so an edit of a MANIFEST alone is refused.

Written by :func:`bench.manifest.update_manifest` when a build records reference data (commit it
with the MANIFEST); a test checks it equals the shipped MANIFESTs. Do not edit it by hand.
"""

MANIFEST_SHA256 = {
    "data_cache/features/MANIFEST": "8af3c25a025b72c3e43d50914c1b6870a588c635534969c4386013e06299bb39",
    "data_cache/sequence/MANIFEST": "dcebf4d25854defa7584aebec75e731ef679955e0ce6665069d156acb941d229",
    "tables/MANIFEST": "74b54bd9e5be964e57fea0595d23ce2926d7b47b506c5479400991bd61dec8cd",
}
