"""Pass-key retrieval benchmark (same as ``memgram passkey``).

    python bench/passkey.py --lengths 8192,16384,32768 --depths 0.1,0.3,0.5,0.7,0.9 --mode block,full \
        --full-max-length 16384 --json bench/out/passkey.json --plot bench/out/passkey.png
"""
import sys

from memgram.runtime.cli import main

if __name__ == "__main__":
    sys.exit(main(["passkey", *sys.argv[1:]]))
