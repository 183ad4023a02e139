"""memgram.grammar"""
