variable "roles" {
  description = "IAM roles GitHub Actions assumes through OIDC, by label: the role name, its trust policy and inline permission policy (JSON strings, as slipway renders them) and managed policies to attach. An inline policy with no statements is not created."
  type = map(object({
    name                = string
    trust_policy        = string
    policy              = string
    managed_policy_arns = optional(list(string), [])
  }))
  default = {}

  validation {
    condition     = alltrue([for r in values(var.roles) : can(jsondecode(r.trust_policy)) && can(jsondecode(r.policy))])
    error_message = "Every role's trust_policy and policy must be JSON documents."
  }
}

variable "create_provider" {
  description = "Create the account's GitHub OIDC provider (token.actions.githubusercontent.com). An account holds one per URL: set false where it already exists (another environment or stack in the same account created it) and it is looked up instead."
  type        = bool
  default     = true
}

variable "client_id_list" {
  description = "Audiences the OIDC provider accepts; must include the `aud` the roles' trust policies require."
  type        = list(string)
  default     = ["sts.amazonaws.com"]
}

variable "thumbprint_list" {
  description = "Server certificate thumbprints of the provider. AWS validates GitHub's certificate against its own trusted CAs and ignores these; they are set because AWS provider versions before 5.81 require the argument."
  type        = list(string)
  default     = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
}

variable "repository" {
  description = "The GitHub repository (owner/name) the roles trust, used in the roles' descriptions; null to leave it out."
  type        = string
  default     = null
}

variable "max_session_duration" {
  description = "Maximum session duration of the roles, in seconds (3600 to 43200)."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "max_session_duration must be between 3600 and 43200 seconds."
  }
}

variable "tags" {
  description = "Tags for the provider and the roles (on top of the AWS provider's default_tags)."
  type        = map(string)
  default     = {}
}
