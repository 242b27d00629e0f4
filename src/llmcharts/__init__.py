"""Render-and-check harness for the LLM serving Helm charts."""
