"""Link two deduplicated sources one to one: a store CRM export and an EC member list.

Each source holds one record per person. ``link`` gives every record at most one
partner on the other side, so a replaced value (a nickname for a given name) is
forgiven where the rest agrees, while twins on both sides are still kept apart.
"""

from omnicrm.identity import CustomerRecord, SourceRef, link

HOME = {"family_name_kana": "タナカ", "postal_code": "154-0004", "address": "世田谷区太子堂1-2-3"}

store = [
    CustomerRecord(source=SourceRef("store", "M1"), given_name_kana="ユウタ",
                   birth_date="2001-05-05", gender="男性", **HOME),
    CustomerRecord(source=SourceRef("store", "M2"), given_name_kana="ユウト",
                   birth_date="2001-05-05", gender="男性", **HOME),
    CustomerRecord(source=SourceRef("store", "M3"), family_name="Dooley", given_name="Alexander",
                   birth_date="1931-09-24", postal_code="6021",
                   address="92 McIntyre Street Woollahra QLD"),
]  # fmt: skip
ec = [
    CustomerRecord(source=SourceRef("ec", "u2"), given_name_kana="ユウト",
                   birth_date="2001/5/5", **HOME),
    CustomerRecord(source=SourceRef("ec", "u1"), given_name_kana="ゆうた",
                   birth_date="平成13年5月5日", **HOME),
    CustomerRecord(source=SourceRef("ec", "u3"), family_name="Dooley", given_name="Sandy",
                   birth_date="24/09/1931", postal_code="6021",
                   address="92 McIntyre St Woollahra QLD"),
]  # fmt: skip

result = link(store, ec)
for record in store:
    partner = sorted(result.cluster_of(record.source) - {record.source})
    print(f"{record.source} -> {partner[0] if partner else 'no partner'}")
print()
print(result.explain(SourceRef("store", "M3"), SourceRef("ec", "u3")))
