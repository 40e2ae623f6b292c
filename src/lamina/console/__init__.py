"""The web console (docs/console.md): a page served at /console/ on Lamina's own port, for the
operator of the default cell, with the JSON it reads under /console/api/ (api/console.py).

access.py: who may open it and which POSTs are the page's own (pure); series.py: a function's
invocations per minute (pure); cost.py: what they cost at AWS's list prices (pure); views.py: the
JSON of functions, versions, aliases, triggers and dead letters (pure); page.py: the HTML page.
The front end (static/app.js) uses Preact, htm and uPlot, copied into static/vendor/ by
scripts/install/console.sh; nothing is loaded from elsewhere."""
