import infrar_native.storage as s


class Settings:
    TEMPLATE = s.read("config", "template.txt")
    ENABLED = s.exists("config", "enabled")

    def reload(self):
        self.TEMPLATE = s.read("config", "template.txt")

    class Nested:
        LIMIT = len(s.list_objects("config"))
