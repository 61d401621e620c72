"""The Flower engine of `kdcs collab` (engine=flower): the same protocols, nodes, ledger and run
folder as the local engine, carried by a real Flower deployment (SuperLink, SuperNodes, `flwr run`).

Entry point: `kdcs.collab.flower.engine.run_flower` (through `kdcs.jobs.collab.run_collab`). The
ServerApp (`server_app`) and ClientApp (`client_app`) are thin adapters over `kdcs.collab`; only
the modules of this package import flwr. Nothing is imported here, so `kdcs.collab` can name this
package without loading Flower.
"""
