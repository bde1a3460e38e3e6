"""`ganx.testing`: an opt-in contract kit for domain plugin authors.

    from ganx.testing import DomainContract
    from my_plugin.domain import MyDomain

    class TestMyDomain(DomainContract):
        domain = MyDomain()
        settings = {"image_size": 16}     # domain fields that keep the test small

pytest then checks the domain's dataset, that the generator's output fits the discriminator, a
two-step training run on the CPU, sample writing, and a checkpoint round trip. Import this module
only from tests: it needs pytest.
"""

from __future__ import annotations

from .contract import DomainContract, contract_host, domain_plugin

__all__ = ["DomainContract", "contract_host", "domain_plugin"]
