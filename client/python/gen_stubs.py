"""Generates the Python gRPC stubs of the Stepsize contract from the repository's proto/ folder.

The same stepsize/v1/stepsize.proto compiles to the Java classes (module proto/), so both clients
speak one contract. Output: OUT/stepsize/v1/{stepsize_pb2,stepsize_pb2_grpc}.py, importable as
``stepsize.v1`` (the package ``stepsize`` extends its path to include OUT/stepsize).

grpc_tools (pip) is used when it is importable, because it matches a pip protobuf runtime;
otherwise protoc plus grpc_python_plugin (Debian: protobuf-compiler, protobuf-compiler-grpc),
which match the Debian python3-protobuf runtime.

Usage: python3 gen_stubs.py [OUT]   (default OUT: build/generated next to this file)
"""
import glob
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_FILE = "stepsize/v1/stepsize.proto"
DEFAULT_OUT = os.path.join(HERE, "build", "generated")


def proto_root():
    """proto/ at the repository root (this file lives in client/python/)."""
    root = os.path.normpath(os.path.join(HERE, "..", "..", "proto"))
    if not os.path.isfile(os.path.join(root, PROTO_FILE)):
        raise FileNotFoundError(f"{PROTO_FILE} not found under {root}")
    return root


def well_known_include(protoc):
    """-I for google/protobuf/timestamp.proto when this protoc does not bring it (Debian's protoc has it
    only with libprotobuf-dev): the copy that module proto/'s Maven build extracts from protobuf-java."""
    for root in ("/usr/include", "/usr/local/include", os.path.join(os.path.dirname(protoc), "..", "include")):
        if os.path.isfile(os.path.join(root, "google", "protobuf", "timestamp.proto")):
            return []
    extracted = glob.glob(os.path.join(HERE, "..", "..", "proto", "target", "protoc-dependencies", "*",
                                       "google", "protobuf", "timestamp.proto"))
    if not extracted:
        raise RuntimeError("google/protobuf/timestamp.proto not found: build module proto/ first "
                           "(mvn -pl proto compile) or apt-get install libprotobuf-dev")
    return ["-I", os.path.normpath(os.path.join(os.path.dirname(extracted[0]), "..", ".."))]


def generate(out=DEFAULT_OUT):
    """Writes the stubs under out; returns the generated package directory (out/stepsize/v1)."""
    root = proto_root()
    os.makedirs(out, exist_ok=True)
    args = ["-I", root, f"--python_out={out}", f"--grpc_python_out={out}", os.path.join(root, PROTO_FILE)]
    try:
        from grpc_tools import protoc as grpc_protoc  # noqa: F401
        cmd = [sys.executable, "-m", "grpc_tools.protoc"] + args
    except ImportError:
        protoc = shutil.which("protoc")
        plugin = shutil.which("grpc_python_plugin")
        if protoc is None or plugin is None:
            raise RuntimeError("need grpc_tools, or protoc and grpc_python_plugin "
                               "(Debian: apt-get install protobuf-compiler protobuf-compiler-grpc)")
        cmd = [protoc, f"--plugin=protoc-gen-grpc_python={plugin}"] + well_known_include(protoc) + args
    subprocess.run(cmd, check=True)
    package = os.path.join(out, "stepsize", "v1")
    # regular packages, so the stubs import the same way from a build dir and from a wheel
    open(os.path.join(package, "__init__.py"), "a").close()
    return package


if __name__ == "__main__":
    print(generate(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT))
