package holdfast.holds_test

import data.holdfast.holds

test_no_holds_compactable if {
	holds.compactable with input as {"holds": []}
}

test_held_not_compactable if {
	not holds.compactable with input as {"holds": [{"id": "lh_1", "name": "Q3 audit", "type_id": ""}]}
}

test_resource_holds_compactable if {
	holds.compactable with input as {"resource": {"type": "user", "id": "usr_1", "holds": []}}
}

test_resource_holds_not_compactable if {
	not holds.compactable with input as {"resource": {"type": "user", "id": "usr_1", "holds": [{"id": "lh_1", "name": "Q3 audit"}]}}
}

test_any_hold_anywhere_wins if {
	not holds.compactable with input as {"holds": [], "resource": {"holds": [{"id": "lh_1"}]}}
	not holds.compactable with input as {"holds": [{"id": "lh_1"}], "resource": {"holds": []}}
}

test_several_holds_not_compactable if {
	not holds.compactable with input as {"holds": [{"id": "lh_1"}, {"id": "lh_2"}]}
}

test_unknown_holds_not_compactable if {
	not holds.compactable with input as {}
	not holds.compactable with input as {"resource": {"type": "user", "id": "usr_1"}}
	not holds.compactable with input as {"holds": "none"}
}
