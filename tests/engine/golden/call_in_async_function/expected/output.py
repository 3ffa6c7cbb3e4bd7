import asyncio

from infrar_native.storage import read, write


async def handler(request):
    body = read("uploads", request.key)
    await asyncio.sleep(0)
    write("uploads", request.key + ".bak", body)
    return await asyncio.to_thread(lambda: read("uploads", request.key))


async def stream(keys):
    async for key in keys:
        yield read("uploads", key)
