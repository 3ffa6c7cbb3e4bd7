"""A call inside `{...=}` prints its own text: with an aliased import that text is unchanged."""
import infrar.storage as s

print(f"value: {s.read('b', 'k') = }")
print(f"{s.exists('b', 'k')=!r:>10}")
