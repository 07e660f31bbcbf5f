"""ecr-warden's local AWS: moto 5.2.5 in server mode, made faithful where ecr-warden relies on it.

Each module patches one service and says, per patch, what real AWS does that stock moto does not.
`python -m warden_emulator --port-file F` applies every patch, adds the test-only endpoints under
`/_warden/` and serves on 127.0.0.1.
"""

PINNED_MOTO = "5.2.5"
