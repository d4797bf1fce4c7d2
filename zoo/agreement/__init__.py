"""Number agreement (many-to-one): the words before a verb → whether the verb is singular or plural."""

from zoo.agreement.model import AgreementClassifier

__all__ = ["AgreementClassifier"]
