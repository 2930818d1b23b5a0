"""Campaign stores by URL: a SQLite file (:class:`profiling.store.CampaignStore`) or a PostgreSQL database
(:class:`profiling.stores.sql.SqlStore`), both of the one schema of :mod:`profiling.stores.schema`.

:func:`profiling.store.open_store` picks one from a URL or path.
"""
