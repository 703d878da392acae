"""Per-site CSS/XPath rules from the sources file win over every other source."""

from services.parser.extract import parse_page
from schemas.sources import SiteRules
from tests.services.parser.helpers import raw_page

PAGE = """<html><head><meta property="og:title" content="Meta title">
<script type="application/ld+json">{"@type": "NewsArticle", "headline": "JSON-LD title", "datePublished": "2025-10-01T10:00:00+03:00"}</script></head>
<body><h1>Visible title</h1><div class="promo"><p>Subscribe to our newsletter today and never miss a story from us again, ever.</p></div>
<div class="story"><p class="kicker">Exclusive</p><p>The real first paragraph of the story, long enough to count as text for any extractor.</p>
<p>The second paragraph continues the story with more words and facts that matter to the reader.</p>
<div class="ad-slot"><p>Advertisement text that a rule removes from the body before extraction happens.</p></div></div>
<span class="when">12.10.2025 09:15</span><span class="who">Текст: Иван Петров</span></body></html>"""


def test_site_rules_override_structured_and_visible_sources() -> None:
    rules = SiteRules(title="h1", body="div.story", exclude=["p.kicker", "div.ad-slot"], published_at="span.when", authors="span.who")
    article = parse_page(raw_page(PAGE, site_zone="Europe/Moscow"), rules)
    assert article.title == "Visible title" and article.provenance["title"].source == "site-rule"
    assert article.body.startswith("The real first paragraph") and "Advertisement" not in article.body and "Exclusive" not in article.body
    assert article.provenance["body"].source == "site-rule"
    assert article.published_at.isoformat() == "2025-10-12T09:15:00+03:00"
    assert article.provenance["published_at"].source == "site-rule"
    assert article.authors == ["Иван Петров"]


def test_without_rules_json_ld_date_wins() -> None:
    article = parse_page(raw_page(PAGE, site_zone="Europe/Moscow"))
    assert article.published_at.isoformat() == "2025-10-01T10:00:00+03:00"
    assert article.provenance["published_at"].source == "jsonld"
