# Retention and compaction ask data.holdfast.holds.compactable before they
# remove a user's (or device's) data. Input: {"holds": [...]} or a decision
# input whose resource carries "holds". Held data is never compactable, and
# data whose holds are unknown (no holds list) is treated as held.
package holdfast.holds

default compactable := false

compactable if {
	holds_known
	count(holds) == 0
}

holds contains h if some h in object.get(input, "holds", [])

holds contains h if some h in object.get(object.get(input, "resource", {}), "holds", [])

holds_known if is_array(input.holds)

holds_known if is_array(input.resource.holds)
