"""Voice notes to text: Whisper backends, input checks, the inbox job and its notes.

Nothing here imports a heavy library at module level; PyAV, numpy, faster-whisper and
openai-whisper load inside the functions that transcribe.
"""
