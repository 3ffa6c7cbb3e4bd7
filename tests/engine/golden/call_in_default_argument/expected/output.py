import infrar_native.storage as s


def render(template=s.read("config", "template.txt")):
    return template


def share(key, *, url=s.generate_signed_url("b", "k")):
    return url


handler = lambda data=s.read("b", "k"): data
