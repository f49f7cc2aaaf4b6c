"""Chunking, embedding, the FAISS index on disk with its manifest, and hybrid retrieval."""
