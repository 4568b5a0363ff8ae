"""The topic taxonomy: what each topic is and the evidence that puts an item in it.

The defaults (``education``, ``ai``, ``law``) are what a new install tags with; users replace or
extend them in ``[[topics]]`` of ``feedbot.toml``. How each field is matched is in
:mod:`feedbot.tagging.rules`; in short, keywords and phrases match whole words in any case with
simple English inflections ("teacher" also finds "teachers"), except keywords written in capitals
("AI", "LLM"), which match exactly that spelling.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_ISSN = re.compile(r"^\d{4}-?\d{3}[\dXx]$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TopicSettings(_Model):
    """One topic of the taxonomy."""

    id: str = Field(description="Stable id used in URLs, exports and files (lowercase slug).")
    name: str = Field(description="Display name.")
    description: str = Field("", description="What belongs here.")
    keywords: list[str] = Field(
        default_factory=list,
        description=(
            "Words that put an item in this topic: whole words, any case, with simple "
            "inflections (teacher → teachers); words in capitals (AI, LLM) match only in capitals."
        ),
    )
    phrases: list[str] = Field(
        default_factory=list,
        description=(
            "Multi-word phrases that are stronger evidence than a keyword (e.g. 'school "
            "district'); matched like keywords, the last word inflected."
        ),
    )
    negative_keywords: list[str] = Field(
        default_factory=list,
        description=(
            "Words or phrases that count against the topic (e.g. 'Moore's law' for law); the "
            "words they cover stop counting as keywords."
        ),
    )
    domains: list[str] = Field(
        default_factory=list,
        description=(
            "Sites whose links belong here: registrable domains (subdomains match), optionally "
            "with a path prefix such as 'kqed.org/mindshift'."
        ),
    )
    arxiv_categories: list[str] = Field(
        default_factory=list, description="arXiv categories that belong here, e.g. 'cs.AI'."
    )
    journals: list[str] = Field(
        default_factory=list,
        description=(
            "Journal names (any case) whose papers belong here; also found when the text cites "
            "them."
        ),
    )
    issns: list[str] = Field(
        default_factory=list, description="ISSNs of journals whose papers belong here."
    )
    subjects: list[str] = Field(
        default_factory=list,
        description="Crossref subject names (any case) whose papers belong here, e.g. 'Education'.",
    )

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError("expected a lowercase slug such as 'education' or 'ai'")
        return value

    @field_validator("issns")
    @classmethod
    def _issn(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _ISSN.match(value.strip()):
                raise ValueError(f"expected an ISSN such as '1362-1688' (got {value!r})")
        return values


DEFAULT_TOPICS: tuple[TopicSettings, ...] = (
    TopicSettings(
        id="education",
        name="Education",
        description="Schools, teaching, learning, students and higher education.",
        keywords=[
            "education",
            "educational",
            "educator",
            "school",
            "schooling",
            "teacher",
            "teaching",
            "student",
            "pupil",
            "classroom",
            "curriculum",
            "curricula",
            "pedagogy",
            "pedagogical",
            "literacy",
            "homework",
            "kindergarten",
            "preschool",
            "pre-K",
            "K-12",
            "university",
            "universities",
            "college",
            "undergraduate",
            "tutor",
            "tutoring",
            "learner",
            "syllabus",
            "exam",
            "semester",
            "edtech",
            "homeschool",
            "homeschooling",
            "Ofsted",
            "lecturer",
        ],
        phrases=[
            "higher education",
            "school district",
            "school board",
            "school principal",
            "head teacher",
            "reading instruction",
            "science of reading",
            "early childhood",
            "special education",
            "language teaching",
            "language learning",
            "language learners",
            "second language acquisition",
            "foreign language",
            "student loan",
            "financial aid",
            "formative assessment",
            "teacher training",
            "learning loss",
            "online course",
            "graduate student",
            "charter school",
            "Head Start",
            "report card",
            "test scores",
            "reading scores",
            "math scores",
            "professional development",
        ],
        negative_keywords=[
            "school of fish",
            "school of thought",
            "old school",
            "old-school",
            "electoral college",
            "college football",
            "college basketball",
        ],
        domains=[
            "chalkbeat.org",
            "edweek.org",
            "the74million.org",
            "hechingerreport.org",
            "insidehighered.com",
            "chronicle.com",
            "edutopia.org",
            "edsurge.com",
            "k12dive.com",
            "highereddive.com",
            "educationnext.org",
            "edworkingpapers.com",
            "learningpolicyinstitute.org",
            "timeshighereducation.com",
            "ed.gov",
            "cultofpedagogy.com",
            "nctq.org",
            "kqed.org/mindshift",
            "npr.org/sections/ed",
            "theguardian.com/education",
        ],
        arxiv_categories=["physics.ed-ph"],
        journals=[
            "Language Teaching Research",
            "TESOL Quarterly",
            "The Modern Language Journal",
            "Modern Language Journal",
            "Studies in Second Language Acquisition",
            "Language Learning",
            "ELT Journal",
            "Foreign Language Annals",
            "Review of Educational Research",
            "American Educational Research Journal",
            "Educational Researcher",
            "Journal of Educational Psychology",
            "Computers & Education",
            "Teaching and Teacher Education",
            "Sociology of Education",
            "British Journal of Educational Technology",
            "CBE—Life Sciences Education",
        ],
        issns=[
            "1362-1688",  # Language Teaching Research
            "1477-0954",
            "0039-8322",  # TESOL Quarterly
            "1545-7249",
            "0026-7902",  # The Modern Language Journal
            "1540-4781",
            "0272-2631",  # Studies in Second Language Acquisition
            "1470-1545",
            "0023-8333",  # Language Learning
            "1467-9922",
            "0034-6543",  # Review of Educational Research
            "0002-8312",  # American Educational Research Journal
            "0013-189X",  # Educational Researcher
            "0022-0663",  # Journal of Educational Psychology
            "0360-1315",  # Computers & Education
            "0742-051X",  # Teaching and Teacher Education
        ],
        subjects=["Education", "Developmental and Educational Psychology"],
    ),
    TopicSettings(
        id="ai",
        name="AI",
        description="Artificial intelligence, machine learning and language models.",
        keywords=[
            "AI",
            "AGI",
            "LLM",
            "GPT",
            "NLP",
            "ChatGPT",
            "chatbot",
            "transformer",
            "embeddings",
            "pretraining",
            "pre-training",
            "fine-tuning",
            "fine-tuned",
            "multimodal",
            "agentic",
            "deepfake",
            "OpenAI",
            "Anthropic",
            "DeepMind",
            "interpretability",
            "algorithmic",
            "tokenizer",
            "quantization",
            "robotaxi",
            "NeurIPS",
            "NIPS",
            "ICML",
            "ICLR",
        ],
        phrases=[
            "artificial intelligence",
            "machine learning",
            "deep learning",
            "neural network",
            "neural net",
            "language model",
            "large language model",
            "generative AI",
            "reinforcement learning",
            "computer vision",
            "natural language processing",
            "diffusion model",
            "AI agent",
            "AI safety",
            "Hugging Face",
            "training data",
            "prompt injection",
            "vision-language model",
            "retrieval-augmented generation",
            "facial recognition",
            "self-driving",
            "autonomous vehicle",
            "coding assistant",
            "speculative decoding",
            "hallucination rate",
        ],
        negative_keywords=["power transformer", "electrical transformer", "Ai Weiwei"],
        domains=[
            "openai.com",
            "anthropic.com",
            "claude.com",
            "deepmind.google",
            "deepmind.com",
            "huggingface.co",
            "ai.meta.com",
            "mistral.ai",
            "cohere.com",
            "allenai.org",
            "mila.quebec",
            "aisi.gov.uk",
            "deeplearning.ai",
            "tldr.tech/ai",
            "transformer-circuits.pub",
            "alignmentforum.org",
            "paperswithcode.com",
            "machinelearning.apple.com",
            "epoch.ai",
        ],
        arxiv_categories=["cs.AI", "cs.CL", "cs.LG", "cs.CV", "cs.NE", "cs.MA", "stat.ML"],
        journals=[
            "Nature Machine Intelligence",
            "Journal of Machine Learning Research",
            "Machine Learning",
            "Artificial Intelligence",
            "Journal of Artificial Intelligence Research",
            "IEEE Transactions on Pattern Analysis and Machine Intelligence",
            "Neural Networks",
            "Neural Computation",
            "Computational Linguistics",
            "Transactions of the Association for Computational Linguistics",
            "Transactions on Machine Learning Research",
            "Artificial Intelligence and Law",
        ],
        issns=[
            "2522-5839",  # Nature Machine Intelligence
            "1532-4435",  # Journal of Machine Learning Research
            "1533-7928",
            "0004-3702",  # Artificial Intelligence
            "1076-9757",  # Journal of Artificial Intelligence Research
            "0162-8828",  # IEEE TPAMI
            "0893-6080",  # Neural Networks
            "0899-7667",  # Neural Computation
            "0891-2017",  # Computational Linguistics
            "2307-387X",  # TACL
            "0924-8463",  # Artificial Intelligence and Law
        ],
        subjects=["Artificial Intelligence", "Computer Vision and Pattern Recognition"],
    ),
    TopicSettings(
        id="law",
        name="Law",
        description="Courts, legislation, regulation, rights and legal practice.",
        keywords=[
            "law",
            "legal",
            "legally",
            "illegal",
            "court",
            "judge",
            "judicial",
            "lawsuit",
            "sue",
            "litigation",
            "plaintiff",
            "defendant",
            "prosecutor",
            "prosecute",
            "prosecution",
            "mistrial",
            "convicted",
            "conviction",
            "sentencing",
            "judiciary",
            "defamation",
            "originalism",
            "treaty",
            "indictment",
            "verdict",
            "jury",
            "statute",
            "statutory",
            "legislation",
            "legislature",
            "legislator",
            "lawmaker",
            "regulation",
            "regulator",
            "regulatory",
            "copyright",
            "patent",
            "trademark",
            "attorney",
            "lawyer",
            "paralegal",
            "constitutional",
            "unconstitutional",
            "antitrust",
            "jurisprudence",
            "injunction",
            "appellate",
            "appellant",
            "appellee",
            "docket",
            "amicus",
            "subpoena",
            "tort",
            "SCOTUS",
            "GDPR",
            "FERPA",
            "HIPAA",
            "v.",
        ],
        phrases=[
            "supreme court",
            "appeals court",
            "court of appeals",
            "district court",
            "class action",
            "due process",
            "First Amendment",
            "Fourth Amendment",
            "Title IX",
            "Section 230",
            "AI Act",
            "executive order",
            "law firm",
            "law school",
            "legal aid",
            "bar exam",
            "civil rights",
            "privacy law",
            "data protection",
            "oral argument",
            "rule of law",
            "property rights",
            "contract law",
            "fair use",
            "on trial",
            "stand trial",
            "jury trial",
            "criminal trial",
            "murder trial",
            "trial court",
            "trial judge",
        ],
        negative_keywords=[
            "law of large numbers",
            "law of averages",
            "power law",
            "scaling law",
            "Moore's law",
            "Murphy's law",
            "Sod's law",
            "Benford's law",
            "Zipf's law",
            "Amdahl's law",
            "Conway's law",
            "Goodhart's law",
            "Godwin's law",
            "Betteridge's law",
            "Newton's law",
            "Ohm's law",
            "mother-in-law",
            "father-in-law",
            "son-in-law",
            "daughter-in-law",
            "sister-in-law",
            "brother-in-law",
            "in-laws",
            "food court",
            "tennis court",
            "basketball court",
            "centre court",
            "center court",
            "court of public opinion",
            "Aaron Judge",
            "judging by",
            "don't judge",
            "LLM as a judge",
            "LLM-as-a-judge",
            "LLM judge",
            "Constitutional AI",
            "constitutional classifier",
            "judging from",
        ],
        domains=[
            "law.com",
            "abovethelaw.com",
            "lawfaremedia.org",
            "lawfareblog.com",
            "scotusblog.com",
            "law360.com",
            "abajournal.com",
            "americanbar.org",
            "justia.com",
            "courtlistener.com",
            "uscourts.gov",
            "supremecourt.gov",
            "oyez.org",
            "bloomberglaw.com",
            "reuters.com/legal",
            "jurist.org",
            "law.cornell.edu",
            "iapp.org",
            "democracydocket.com",
            "ipwatchdog.com",
            "congress.gov",
            "legislation.gov.uk",
            "eur-lex.europa.eu",
            "theguardian.com/law",
        ],
        journals=[
            "Harvard Law Review",
            "Yale Law Journal",
            "The Yale Law Journal",
            "Stanford Law Review",
            "Columbia Law Review",
            "Artificial Intelligence and Law",
            "Computer Law & Security Review",
            "Journal of Legal Studies",
            "Law & Society Review",
        ],
        issns=[
            "0017-811X",  # Harvard Law Review
            "0044-0094",  # Yale Law Journal
            "0038-9765",  # Stanford Law Review
            "0010-1958",  # Columbia Law Review
            "0924-8463",  # Artificial Intelligence and Law
            "0267-3649",  # Computer Law & Security Review
        ],
        subjects=["Law"],
    ),
)
