"""Integrations: an httpx transport resolving service names, a Starlette/FastAPI lifespan."""
