"""The lead pages, one module per workspace: ``lists`` (the lead list), ``detail`` (the
lead page with its action panel), ``edit`` (enter and edit a lead), ``timeline`` (events
in words), ``desk`` (the lead desk's queues and consult), ``sales`` (my leads, the team
page), ``imports`` (upload, mapping, progress, export) and ``capture`` (the public,
embeddable form). Views parse input, call one selector, action or service, and render;
every rule lives below them (see ``docs/architecture.md``).
"""
