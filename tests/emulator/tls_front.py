"""An HTTPS front for the emulator: terminates TLS (OpenSSL, through Python's ssl module) with the
certificate given, and pipes each connection to the plain-HTTP upstream. Prints the port it listens
on (127.0.0.1), then serves until killed. Used by tests/tests/tls.rs to prove which roots the
functions' HTTPS clients trust.

usage: python3 tls_front.py CERT KEY UPSTREAM_HOST:PORT
"""

import asyncio
import ssl
import sys


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def main() -> None:
    cert, key, upstream = sys.argv[1:4]
    host, port = upstream.rsplit(":", 1)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    async def serve(client_reader, client_writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer))

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
