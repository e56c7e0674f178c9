"""A gRPC server and a client in one process: one unary call over loopback, without generated code."""

from concurrent import futures

import grpc

METHOD = "/corpus.Echo/Say"


def say(request: bytes, context: grpc.ServicerContext) -> bytes:
    return b"echo " + request


def main() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    handler = grpc.unary_unary_rpc_method_handler(say, request_deserializer=None, response_serializer=None)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("corpus.Echo", {"Say": handler}),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        answer = channel.unary_unary(METHOD)(b"corpus", timeout=10)
    server.stop(0)
    print(f"grpc ok: {answer.decode()} grpcio {grpc.__version__}")
