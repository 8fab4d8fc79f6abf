"""AnswerPolicy: while a form waits for a free-text answer, the reply is that answer.

NLU reads each text alone, so a reply to "What name should I put the appointment
under?" such as "Jo Park" or "June Price" comes back as an FAQ about parking or
prices, and the rules then answer the FAQ instead of taking the name. This policy
sees the question (the form's `requested_slot`) and predicts the form whenever the
reply is not plainly something else (policies/answers.py), with a priority above
RulePolicy's, so the form takes the text as the name. Questions, "never mind", a
request for a person or another request still go to their rules. The same holds for
"Reply 1 to move it, 2 to book another" (only a choice is its answer), and a name
stated outright ("sorry, the name is Jo Price") goes to a form that asks for one at
any step.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME, REQUESTED_SLOT
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from policies.answers import is_answer, stated_name

#: Above RulePolicy (6): an answer is not an FAQ, whatever the rules say.
PRIORITY = 7


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT,
    is_trainable=False,
)
class AnswerPolicy(Policy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "priority": PRIORITY,
            "free_text_slots": ["customer_name", "booking_or_move"],
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, **kwargs)
        slots = config.get("free_text_slots", [])
        if not isinstance(slots, list) or not all(isinstance(s, str) for s in slots):
            raise ValueError(
                f"AnswerPolicy free_text_slots: expected a list of slot names, got {slots!r}"
            )
        self.free_text_slots = frozenset(slots)

    def train(
        self,
        training_trackers: list[TrackerWithCachedStates],
        domain: Domain,
        **kwargs: Any,
    ) -> Resource:
        return self._resource  # nothing to learn

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        result = self._default_predictions(domain)
        form = answering_form(tracker, domain, self.free_text_slots)
        if form is not None:
            result[domain.index_for_action(form)] = 1.0
        return self._prediction(result)


def answering_form(
    tracker: DialogueStateTracker, domain: Domain, free_text_slots: frozenset[str]
) -> str | None:
    """The form the latest text answers: the answer to its free-text question, or
    a name stated outright ("sorry, the name is Jo Price") to a form that takes one."""
    form = tracker.active_loop_name
    if (
        not form
        or tracker.latest_action_name != ACTION_LISTEN_NAME
        or tracker.latest_message is None
    ):
        return None
    text = tracker.latest_message.text or ""
    slot = tracker.get_slot(REQUESTED_SLOT)
    if slot in free_text_slots:
        return form if is_answer(slot, text) else None
    takes_name = "customer_name" in free_text_slots and "customer_name" in (
        domain.required_slots_for_form(form)
    )
    return form if takes_name and stated_name(text) else None
