"""Which open invoices a bank line pays (pure: plain dataclasses in and out).

For each line of money in, the candidates are the open invoices (``OpenInvoice``) and
the counterparty accounts already known to belong to a customer (accounts seen on their
earlier matched lines). Three rules are tried in this order; the first that gives a
match sure enough to book (``confidence >= AUTO_BOOK_THRESHOLD``) wins, otherwise the
best of all is kept as a suggestion for staff:

1. **Payment reference.** The line's structured reference (or an RF or KID reference in
   its text) equals the payment reference of open invoices, and its check digits are
   right: ISO 11649 for ``RF..``, else MOD10 (Luhn), MOD11 (Norwegian KID, ``-`` for a
   remainder of 10) or the Finnish 7-3-1 check for digits. A reference whose check
   digits are wrong (``RF98123456789012``) matches nothing.
   Confidence: 100 when the amount settles exactly, 95 for a part payment or an
   overpayment; 5 less when the reference was found in the text rather than given as
   the structured reference.
2. **Invoice number in the text.** An open invoice's number appears in the remittance
   text (or the structured reference field) as a whole word, ignoring case
   (``INV-2026-0001`` in "Faktura inv-2026-0001." but not in "INV-2026-00010").
   Numbers of digits only with fewer than 5 digits are not looked for: they are too
   often a year, a date or an amount. Confidence: 95 when the amount settles exactly,
   85 otherwise; 10 more when the payer is the invoice's customer by known account or
   by name (similarity at least 0.8); 15 less when the numbers found belong to several
   customers (the first customer's are used).
3. **Amount and customer.** The amount equals an invoice's open amount, and the payer
   is the invoice's customer: by a known account (90), by name (50 + 40 × similarity:
   90 for the same name, 82 at 0.8), or both (95); 10 less when the customer has several
   invoices of that amount (the one due first is taken) and 20 less when another
   customer scores within 5 points. An invoice that is the only open one of that amount,
   with no sign of who paid, is a suggestion of 50. A payer recognised (by account, or
   a name similarity of 0.9 or more) without an invoice of that amount is a suggestion
   of 40, naming the customer only.

Names are compared after folding case and accents, dropping punctuation and legal forms
(AS, ASA, AB, GmbH, Ltd, Sp. z o.o., s.r.o. ...): the similarity is the larger of the
token overlap (Jaccard) and the ``difflib`` ratio of the sorted tokens, and at least 0.9
when all of one name's tokens (two or more) are in the other.

Allocating: the line's amount settles the matched invoices up to their open amounts —
one invoice, or several (those named, or sharing the reference) in order: when the
amount is exactly one of them, that one; else oldest due first, the last one in part.
What is left is the customer's credit. Each line taken automatically lowers the open
amounts seen by the lines after it, so one statement never settles an invoice twice.

Indexes by reference, number word, customer and amount make matching a statement
linear in its lines and the candidates (no line is compared with every invoice).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from stdnum import iso11649

AUTO_BOOK_THRESHOLD = 90
NAME_SURE = Decimal("0.8")  # a payer's name this similar confirms the customer
SHORTEST_DIGIT_NUMBER = 5
ZERO = Decimal(0)


@dataclass(frozen=True)
class OpenInvoice:
    id: int
    number: str
    customer_id: int
    customer_name: str
    open_amount: Decimal
    currency: str
    payment_reference: str = ""
    due_date: date | None = None


@dataclass(frozen=True)
class BankCredit:
    """What matching needs of a bank line (money in)."""

    key: int
    amount: Decimal
    currency: str
    counterparty_name: str = ""
    counterparty_account: str = ""
    structured_reference: str = ""
    remittance_text: str = ""


@dataclass(frozen=True)
class InvoiceShare:
    invoice_id: int
    amount: Decimal


@dataclass(frozen=True)
class Match:
    """An answer for one line: whose money, what it settles, how sure, and why."""

    line_key: int
    customer_id: int | None
    shares: tuple[InvoiceShare, ...]
    credit: Decimal
    confidence: int
    rule: str  # reference, number, amount, customer
    reason: str

    @property
    def automatic(self) -> bool:
        return self.confidence >= AUTO_BOOK_THRESHOLD and self.customer_id is not None


# --- references and names ------------------------------------------------------------------


def compact_reference(reference: str) -> str:
    return "".join((reference or "").split()).upper()


def _luhn_ok(digits: str) -> bool:
    """MOD10 (Luhn), as stdnum.luhn has it, without its per-call cost (many lines)."""
    total = 0
    for position, character in enumerate(reversed(digits)):
        digit = ord(character) - 48
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _mod11_ok(digits: str) -> bool:
    payload, check = digits[:-1], digits[-1]
    if not payload.isdigit():
        return False
    total = sum(int(d) * (2 + i % 6) for i, d in enumerate(reversed(payload)))
    remainder = 11 - total % 11
    expected = "0" if remainder == 11 else "-" if remainder == 10 else str(remainder)
    return check == expected


def _finnish_ok(digits: str) -> bool:
    if not (4 <= len(digits) <= 20 and digits.isdigit()):
        return False
    total = sum(int(d) * (7, 3, 1)[i % 3] for i, d in enumerate(reversed(digits[:-1])))
    return (10 - total % 10) % 10 == int(digits[-1])


def reference_is_valid(reference: str) -> bool:
    """Right check digits: RF (ISO 11649), or KID MOD10/MOD11, or Finnish 7-3-1."""
    ref = compact_reference(reference)
    if ref.startswith("RF"):
        return iso11649.is_valid(ref)
    if not 2 <= len(ref) <= 25:
        return False
    if ref.isdigit():
        return _luhn_ok(ref) or _mod11_ok(ref) or _finnish_ok(ref)
    return ref.endswith("-") and _mod11_ok(ref)


_LEGAL_FORMS = frozenset("""as asa ab abp oy oyj aps a/s gmbh ag kg ug ohg mbh bv nv vof sa sas
sarl srl spa sl ltd limited llc inc corp co plc lp llp sp zoo spzoo sa sro spol ks vos da
ans ba ks nuf""".split())
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "å": "a", "ł": "l", "đ": "d", "ß": "ss",
                       "œ": "oe", "þ": "th", "ð": "d"})
_WORD = re.compile(r"\w+")


def name_tokens(name: str) -> tuple[str, ...]:
    """A name's distinguishing words: case and accents folded, legal forms dropped."""
    folded = (name or "").lower().translate(_FOLD)
    if not folded.isascii():  # ASCII has no accents to fold (most names, once translated)
        folded = unicodedata.normalize("NFKD", folded)
        folded = "".join(c for c in folded if not unicodedata.combining(c))
    words = _WORD.findall(folded.replace("_", " "))
    return tuple(w for w in words if len(w) > 1 and w not in _LEGAL_FORMS)


def name_similarity(a: Sequence[str] | str, b: Sequence[str] | str,
                    at_least: float = 0.0) -> float:
    """0–1: how alike two names are (tokens, see the module's docstring).

    With ``at_least``, a similarity below it may come out lower than it is (the costly
    comparison is skipped when it cannot reach it): for deciding against a threshold.
    """
    left = name_tokens(a) if isinstance(a, str) else tuple(a)
    right = name_tokens(b) if isinstance(b, str) else tuple(b)
    if not left or not right:
        return 0.0
    sa, sb = set(left), set(right)
    score = len(sa & sb) / len(sa | sb)
    if score < 1:
        smaller = min(sa, sb, key=len)
        if len(smaller) >= 2 and smaller <= sa & sb:  # one name within the other
            score = max(score, 0.9)
        alike = difflib.SequenceMatcher(None, " ".join(sorted(left)), " ".join(sorted(right)))
        # ratio() is the costly one; the quick bounds above it skip it when it cannot win.
        floor = max(score, at_least - 0.0005)  # rounded to 3 places below
        if alike.real_quick_ratio() > floor and alike.quick_ratio() > floor:
            score = max(score, alike.ratio())
    return round(score, 3)


# --- the index ------------------------------------------------------------------------------


_RF_START = re.compile(r"^RF\d{2}", re.IGNORECASE)
_DIGITS_IN_TEXT = re.compile(rf"\b\d{{{SHORTEST_DIGIT_NUMBER},25}}(?!\d)-?")


_RUN = re.compile(r"\w+(?:[-/.]\w+)*")
_SEPARATOR = re.compile(r"[-/.]")


def _rf_in_text(text: str) -> list[str]:
    """RF references in a text, written whole or in groups ("RF18 5390 0754 7034")."""
    words = text.split()
    found = []
    for start, word in enumerate(words):
        if not _RF_START.match(word):
            continue
        candidate = ""
        for part in words[start:start + 7]:
            candidate += part.strip(".,;:()").upper()
            if len(candidate) > 25 or not candidate.isalnum():
                break
            found.append(candidate)
    return found


def references_in(line: BankCredit) -> list[str]:
    """The payment references a line may carry, valid ones only: structured first."""
    found = [compact_reference(line.structured_reference)]
    found += _rf_in_text(line.remittance_text)
    found += [m.group() for m in _DIGITS_IN_TEXT.finditer(line.remittance_text)]
    return [ref for ref in dict.fromkeys(found) if ref and reference_is_valid(ref)]


def number_candidates(text: str) -> set[str]:
    """Lower-cased strings of the text that could be an invoice number (for a lookup).

    Every run of words joined by ``-``, ``/`` or ``.`` and each part of it that spans
    whole words, when it has a digit and is not a short number of digits only.
    """
    found: set[str] = set()
    for run in _RUN.finditer(text.lower()):
        value = run.group()
        if value.isalpha():  # no digit in it, nor in any part of it (most words)
            continue
        cuts = [0] + [m.end() for m in _SEPARATOR.finditer(value)]
        ends = [m.start() for m in _SEPARATOR.finditer(value)] + [len(value)]
        for i, start in enumerate(cuts[:8]):
            for end in ends[i:i + 8]:
                token = value[start:end]
                if any(c.isdigit() for c in token) and not (
                        token.isdigit() and len(token) < SHORTEST_DIGIT_NUMBER):
                    found.add(token)
    return found


class Matcher:
    """Open invoices indexed for matching a statement's lines, one after the other."""

    def __init__(self, invoices: Iterable[OpenInvoice],
                 known_accounts: Mapping[str, Iterable[int]] | None = None,
                 references: Mapping[int, list[str]] | None = None) -> None:
        # references_in() of lines by key, when the caller has them already
        self.references = references or {}
        self.invoices: dict[int, OpenInvoice] = {}
        self.open: dict[int, Decimal] = {}
        self.by_reference: dict[str, list[int]] = defaultdict(list)
        # Ordered sets (dicts), due first: a booked invoice leaves them at once.
        self.by_customer_amount: dict[tuple[int, str, Decimal], dict[int, None]] = \
            defaultdict(dict)
        self.by_amount: dict[tuple[str, Decimal], dict[int, None]] = defaultdict(dict)
        self.names: dict[int, tuple[str, ...]] = {}
        self.customers_by_token: dict[str, set[int]] = defaultdict(set)
        self.accounts: dict[str, set[int]] = defaultdict(set)
        numbers: list[tuple[OpenInvoice, str, list[tuple[int, str]]]] = []
        word_count: dict[str, int] = defaultdict(int)
        # Due first (integer keys: tuples of dates sort many times slower).
        for invoice in sorted(invoices, key=lambda i: ((i.due_date or date.max).toordinal()
                                                       << 32) + i.id):
            if invoice.open_amount <= 0:
                continue
            self.invoices[invoice.id] = invoice
            self.open[invoice.id] = invoice.open_amount
            reference = compact_reference(invoice.payment_reference)
            if reference and reference_is_valid(reference):
                self.by_reference[reference].append(invoice.id)
            self._index_amount(invoice.id, invoice.open_amount)
            if invoice.customer_id not in self.names:
                self.names[invoice.customer_id] = name_tokens(invoice.customer_name)
                for token in self.names[invoice.customer_id]:
                    self.customers_by_token[token].add(invoice.customer_id)
            number = (invoice.number or "").lower()
            if number and not (number.isdigit() and len(number) < SHORTEST_DIGIT_NUMBER):
                words = [(m.start(), m.group()) for m in _WORD.finditer(number)]
                if words:
                    numbers.append((invoice, number, words))
                    for _, word in set(words):
                        word_count[word] += 1
        # Each number is found through its rarest word, so a word shared by every number
        # ("inv", the year) never makes a line look at every invoice.
        self.by_word: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
        for invoice, number, words in numbers:
            offset, word = min(words, key=lambda w: (word_count[w[1]], -len(w[1])))
            self.by_word[word].append((invoice.id, number, offset))
        for account, customer_ids in (known_accounts or {}).items():
            self.accounts[compact_reference(account)].update(customer_ids)

    def _index_amount(self, invoice_id: int, amount: Decimal) -> None:
        invoice = self.invoices[invoice_id]
        self.by_customer_amount[(invoice.customer_id, invoice.currency, amount)][
            invoice_id] = None
        self.by_amount[(invoice.currency, amount)][invoice_id] = None

    def _unindex_amount(self, invoice_id: int, amount: Decimal) -> None:
        invoice = self.invoices[invoice_id]
        self.by_customer_amount.get((invoice.customer_id, invoice.currency, amount),
                                    {}).pop(invoice_id, None)
        self.by_amount.get((invoice.currency, amount), {}).pop(invoice_id, None)

    # --- matching -----------------------------------------------------------------------

    def match(self, line: BankCredit) -> Match | None:
        """The best answer for a line of money in (None: no idea); booked ones consume."""
        if line.amount <= 0:
            return None
        best: Match | None = None
        for rule in (self._by_reference, self._by_number, self._by_amount):
            found = rule(line)
            if found is not None and (best is None or found.confidence > best.confidence):
                best = found
            if best is not None and best.automatic:
                break
        if best is not None and best.automatic:
            self._consume(line, best)
        return best

    def _consume(self, line: BankCredit, match: Match) -> None:
        for share in match.shares:
            before = self.open[share.invoice_id]
            self._unindex_amount(share.invoice_id, before)
            self.open[share.invoice_id] = before - share.amount
            if self.open[share.invoice_id] > 0:
                self._index_amount(share.invoice_id, self.open[share.invoice_id])
        if line.counterparty_account and match.customer_id is not None:
            self.accounts[compact_reference(line.counterparty_account)].add(match.customer_id)

    def _live(self, ids: Iterable[int], currency: str) -> list[int]:
        return [i for i in dict.fromkeys(ids)
                if self.open.get(i, ZERO) > 0 and self.invoices[i].currency == currency]

    def _due_first(self, ids: Iterable[int], currency: str) -> list[int]:
        """Open invoices among ids, due first (a part-paid one is indexed anew, last)."""
        return sorted(self._live(ids, currency), key=self._due)

    def _due(self, invoice_id: int) -> tuple[date, int]:
        return self.invoices[invoice_id].due_date or date.max, invoice_id

    def _allocate(self, amount: Decimal, ids: list[int]) -> tuple[tuple[InvoiceShare, ...],
                                                                  Decimal, bool]:
        """Shares of the amount over the invoices; the credit left; whether exact."""
        exact = next((i for i in ids if self.open[i] == amount), None)
        if exact is not None:
            return (InvoiceShare(exact, amount),), ZERO, True
        shares, left = [], amount
        for invoice_id in ids:
            if left <= 0:
                break
            part = min(left, self.open[invoice_id])
            shares.append(InvoiceShare(invoice_id, part))
            left -= part
        settled_all = left == 0 and sum(s.amount for s in shares) == sum(
            self.open[i] for i in ids)
        return tuple(shares), left, settled_all

    def _by_reference(self, line: BankCredit) -> Match | None:
        structured = compact_reference(line.structured_reference)
        found = self.references.get(line.key)
        for reference in found if found is not None else references_in(line):
            if reference not in self.by_reference:
                continue
            ids = self._live(self.by_reference[reference], line.currency)
            if not ids:
                continue
            customer_id = self.invoices[ids[0]].customer_id
            ids = [i for i in ids if self.invoices[i].customer_id == customer_id]
            shares, credit, exact = self._allocate(line.amount, ids)
            confidence = (100 if exact else 95) - (0 if reference == structured else 5)
            where = "structured reference" if reference == structured else "text"
            return Match(line.key, customer_id, shares, credit, confidence, "reference",
                         f"Payment reference {reference} ({where}) of "
                         f"{self._titles(ids)}; {self._how(shares, credit, exact)}")
        return None

    def _numbers_in(self, text: str) -> list[int]:
        lowered = text.lower()
        found: list[int] = []
        for match in _WORD.finditer(lowered):
            for invoice_id, number, offset in self.by_word.get(match.group(), ()):
                start = match.start() - offset
                end = start + len(number)
                if start < 0 or lowered[start:end] != number:
                    continue
                if (start > 0 and _is_word(lowered[start - 1])) or \
                        (end < len(lowered) and _is_word(lowered[end])):
                    continue
                found.append(invoice_id)
        return found

    def _by_number(self, line: BankCredit) -> Match | None:
        text = f"{line.structured_reference} {line.remittance_text}"
        ids = self._live(self._numbers_in(text), line.currency)
        if not ids:
            return None
        customer_id = self.invoices[ids[0]].customer_id
        several_customers = any(self.invoices[i].customer_id != customer_id for i in ids)
        ids = [i for i in ids if self.invoices[i].customer_id == customer_id]
        shares, credit, exact = self._allocate(line.amount, ids)
        confidence = 95 if exact else 85
        confirmed = self._payer_is(line, customer_id)
        confidence += 10 if confirmed else 0
        confidence -= 15 if several_customers else 0
        reason = (f"Invoice number{'s' if len(ids) > 1 else ''} {self._titles(ids)} in the"
                  f" text{'; payer ' + confirmed if confirmed else ''}"
                  f"{'; numbers of other customers too' if several_customers else ''};"
                  f" {self._how(shares, credit, exact)}")
        return Match(line.key, customer_id, shares, credit, min(confidence, 100), "number",
                     reason)

    def _payer_is(self, line: BankCredit, customer_id: int) -> str:
        """How the payer is known to be the customer ("by account", "by name"), or ""."""
        account = compact_reference(line.counterparty_account)
        if account and customer_id in self.accounts.get(account, ()):
            return "known by account"
        if line.counterparty_name and name_similarity(
                line.counterparty_name, self.names.get(customer_id, ()),
                float(NAME_SURE)) >= NAME_SURE:
            return "known by name"
        return ""

    def _named(self, tokens: tuple[str, ...], at_least: float) -> dict[int, float]:
        """Customers whose name is at least this alike, found through shared name words."""
        shared: dict[int, int] = defaultdict(int)
        for token in tokens:
            customers = self.customers_by_token.get(token, ())
            if len(customers) <= 500:  # a word most customers share tells nothing
                for customer_id in customers:
                    shared[customer_id] += 1
        found = {}
        for customer_id in sorted(shared, key=lambda c: (-shared[c], c))[:20]:
            similarity = name_similarity(tokens, self.names.get(customer_id, ()), at_least)
            if similarity >= at_least:
                found[customer_id] = similarity
        return found

    def _by_amount(self, line: BankCredit) -> Match | None:
        account = compact_reference(line.counterparty_account)
        by_account = self.accounts.get(account, set()) if account else set()
        tokens = name_tokens(line.counterparty_name)
        same_amount = self.by_amount.get((line.currency, line.amount), {})
        at_amount: list[int] | None = None
        if len(same_amount) <= 50:  # the payer among those invoices' customers
            at_amount = self._due_first(same_amount, line.currency)
            customers = list(dict.fromkeys(self.invoices[i].customer_id for i in at_amount))
        else:  # an amount many invoices have: the customers the payer may be, first
            customers = [*by_account, *self._named(tokens, 0.6)]
        scored: list[tuple[int, int, list[int], str]] = []
        for customer_id in dict.fromkeys(customers):
            known = customer_id in by_account
            similarity = name_similarity(tokens, self.names.get(customer_id, ()), 0.6)
            if not known and similarity < 0.6:
                continue
            ids = self._due_first(self.by_customer_amount.get(
                (customer_id, line.currency, line.amount), ()), line.currency)
            if not ids:
                continue
            if known and similarity >= NAME_SURE:
                score, how = 95, "known account and name"
            elif known:
                score, how = 90, "known account"
            else:
                score, how = round(50 + 40 * similarity), f"name {similarity:.0%} alike"
            score -= 10 if len(ids) > 1 else 0
            scored.append((score, customer_id, ids, how))
        scored.sort(key=lambda s: (-s[0], s[1]))
        if scored:
            score, customer_id, ids, how = scored[0]
            rival = len(scored) > 1 and scored[1][0] >= score - 5
            score -= 20 if rival else 0
            shares = (InvoiceShare(ids[0], line.amount),)
            return Match(line.key, customer_id, shares, ZERO, score, "amount",
                         f"Amount of {self._titles(ids[:1])}, payer by {how}"
                         f"{'; another customer fits too' if rival else ''}"
                         f"{'; the customer has several of that amount' if len(ids) > 1 else ''}")
        if at_amount is not None and len(at_amount) == 1:
            invoice = self.invoices[at_amount[0]]
            return Match(line.key, invoice.customer_id,
                         (InvoiceShare(invoice.id, line.amount),), ZERO, 50, "amount",
                         f"The only open invoice of this amount: {self._titles(at_amount)}")
        sure = set(by_account) | set(self._named(tokens, 0.9))
        if len(sure) == 1:
            customer_id = sure.pop()
            how = "account" if customer_id in by_account else "name"
            return Match(line.key, customer_id, (), line.amount, 40, "customer",
                         f"Payer recognised by {how}; no open invoice of this amount")
        return None

    def _titles(self, ids: Sequence[int]) -> str:
        return ", ".join(self.invoices[i].number for i in ids)

    def _how(self, shares: Sequence[InvoiceShare], credit: Decimal, exact: bool) -> str:
        if exact:
            return "settles it exactly" if len(shares) == 1 else "settles them exactly"
        if credit > 0:
            return f"{credit} more than open, left as credit"
        return "a part payment"


def _is_word(character: str) -> bool:
    return character.isalnum() or character == "_"


def match_lines(lines: Iterable[BankCredit], invoices: Iterable[OpenInvoice],
                known_accounts: Mapping[str, Iterable[int]] | None = None,
                ) -> list[Match | None]:
    """Match a statement's lines in order against the open invoices (see the docstring)."""
    matcher = Matcher(invoices, known_accounts)
    return [matcher.match(line) for line in lines]
