"""Offline stand-in for the get-pip bootstrap script that `ansible-test --venv` downloads.

ansible-test fetches get-pip.py from a CI file host to put pip into each fresh sanity venv;
this machine reaches only package registries, so `make sanity` places this script where
ansible-test caches the download. It gives the same result from the standard library's
ensurepip and the configured package index: pip, at the version ansible-test asks for.
"""

import subprocess
import sys

# get-pip.py options that plain `pip install` does not know.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--upgrade", *args])
