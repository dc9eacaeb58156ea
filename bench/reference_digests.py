"""The sha256 of each shipped MANIFEST, pinned in the package: opening or verifying a shipped
file checks its folder's MANIFEST against it, so an edit of a MANIFEST alone is refused.

Written by :func:`bench.manifest.update_manifest` when a build records reference data (commit it
with the MANIFEST); a test checks it equals the shipped MANIFESTs. Do not edit it by hand.
"""

MANIFEST_SHA256 = {
    "data_cache/features/MANIFEST": "8af3c25a025b72c3e43d50914c1b6870a588c635534969c4386013e06299bb39",
    "data_cache/sequence/MANIFEST": "dcebf4d25854defa7584aebec75e731ef679955e0ce6665069d156acb941d229",
    "tables/MANIFEST": "c967df30fb0e4fe10d3c6636d1018dc24791151bbe5c0d59e4b090b2b3d45045",
}
