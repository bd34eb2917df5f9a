"""`tfedge review DIR --out OUT`: a person labels the frames `tfedge run --collect DIR` kept.

- `decisions.py`: the decisions and their order (pure logic, no files).
- `frames.py`: the collected frames that can be shown, and those that cannot (damaged).
- `store.py`: the OUT folder: the training-format images and the decisions log.
- `session.py`: one review: the three above behind a lock, each decision saved at once.
- `server.py` with `page.html`, `page.js`, `page.css`: the local web page.
"""
