"""The topic taxonomy: what each topic is and the evidence that puts an item in it.

The defaults (``education``, ``ai``, ``law``) are what a new install tags with; users replace or
extend them in ``[[topics]]`` of ``feedbot.toml``.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TopicSettings(_Model):
    """One topic of the taxonomy."""

    id: str = Field(description="Stable id used in URLs, exports and files (lowercase slug).")
    name: str = Field(description="Display name.")
    description: str = Field("", description="What belongs here.")
    keywords: list[str] = Field(
        default_factory=list,
        description="Words or phrases that put an item in this topic (whole words, any case).",
    )

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError("expected a lowercase slug such as 'education' or 'ai'")
        return value


DEFAULT_TOPICS: tuple[TopicSettings, ...] = (
    TopicSettings(
        id="education",
        name="Education",
        description="Schools, teaching, learning, students and higher education.",
        keywords=[
            "education",
            "educational",
            "educator",
            "educators",
            "school",
            "schools",
            "teacher",
            "teachers",
            "teaching",
            "student",
            "students",
            "classroom",
            "classrooms",
            "curriculum",
            "pedagogy",
            "literacy",
            "reading instruction",
            "K-12",
            "homework",
            "university",
            "universities",
            "college",
            "colleges",
            "higher education",
            "tutoring",
            "learners",
            "school district",
            "principal",
            "assessment",
            "edtech",
        ],
    ),
    TopicSettings(
        id="ai",
        name="AI",
        description="Artificial intelligence, machine learning and language models.",
        keywords=[
            "AI",
            "artificial intelligence",
            "machine learning",
            "deep learning",
            "LLM",
            "LLMs",
            "language model",
            "language models",
            "neural network",
            "neural networks",
            "GPT",
            "chatbot",
            "chatbots",
            "generative AI",
            "transformer",
            "transformers",
            "agents",
            "AI agents",
            "model training",
            "fine-tuning",
            "benchmark",
            "embeddings",
            "reinforcement learning",
            "computer vision",
            "OpenAI",
            "Anthropic",
            "DeepMind",
        ],
    ),
    TopicSettings(
        id="law",
        name="Law",
        description="Courts, legislation, regulation, rights and legal practice.",
        keywords=[
            "law",
            "laws",
            "legal",
            "court",
            "courts",
            "supreme court",
            "judge",
            "judges",
            "lawsuit",
            "lawsuits",
            "litigation",
            "statute",
            "legislation",
            "legislature",
            "regulation",
            "regulations",
            "regulator",
            "copyright",
            "attorney",
            "attorneys",
            "lawyer",
            "lawyers",
            "ruling",
            "appeals court",
            "constitutional",
            "privacy law",
            "FERPA",
            "Title IX",
            "antitrust",
            "contract",
            "property rights",
            "jurisprudence",
        ],
    ),
)
