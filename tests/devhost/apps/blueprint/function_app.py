"""Sample app: everything lives in a blueprint registered from another module."""

import azure.durable_functions as df
import azure.functions as func
from greeting_blueprint import bp

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(bp)
