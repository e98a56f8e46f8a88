"""The marking session: state, journal, store, lock, navigation, events, writer, undo, prefetch."""
