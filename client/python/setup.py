"""Builds the package with its gRPC stubs: they are generated from proto/ here, never committed."""
import os
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_stubs  # noqa: E402


class BuildPyWithStubs(build_py):
    def run(self):
        super().run()
        gen_stubs.generate(self.build_lib)  # -> build_lib/stepsize/v1/stepsize_pb2{,_grpc}.py


setup(cmdclass={"build_py": BuildPyWithStubs})
