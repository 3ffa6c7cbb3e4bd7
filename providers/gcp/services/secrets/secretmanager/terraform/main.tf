# Secret Manager secrets for the infrar secrets capability: one per logical name in the code.
# Terraform makes the secrets and never a version: the program adds versions with set_secret,
# so no value is ever in a plan, a state file or a review. Secrets are replicated
# automatically, or to the locations given, encrypted at rest (Google-managed keys, or the
# Cloud KMS key given) and served over TLS only. Each secret gets a custom role with exactly
# the permissions the code needs, granted on that secret alone; nothing is public.

variable "secrets" {
  description = "Logical name -> physical name and the IAM permissions the code uses on it."
  type = map(object({
    name        = string
    permissions = list(string)
  }))
}

variable "project" {
  description = "Project name."
  type        = string
}

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "labels" {
  description = "Labels on every secret."
  type        = map(string)
  default     = {}
}

variable "app_members" {
  description = "IAM members that receive each secret's role."
  type        = list(string)
  default     = []
}

variable "service_grants" {
  description = "Service name -> its identity and, by logical name, what its code does with each secret."
  type = map(object({
    principal = string
    resources = map(list(string))
  }))
  default = {}
}

variable "replication_locations" {
  description = "Locations for user-managed replication; empty for automatic replication."
  type        = list(string)
  default     = []
}

variable "kms_key_name" {
  description = "Cloud KMS key for automatically replicated secrets; empty for Google-managed keys."
  type        = string
  default     = ""
}

locals {
  labels = merge(var.labels, { project = var.project, environment = var.environment })
  grants = {
    for pair in setproduct(keys(var.secrets), var.app_members) : "${pair[0]} ${pair[1]}" => {
      secret = pair[0]
      member = pair[1]
    }
  }
}

resource "google_secret_manager_secret" "this" {
  for_each = var.secrets

  secret_id = each.value.name
  labels    = local.labels

  replication {
    dynamic "auto" {
      for_each = length(var.replication_locations) == 0 ? [var.kms_key_name] : []
      content {
        dynamic "customer_managed_encryption" {
          for_each = auto.value == "" ? [] : [auto.value]
          content {
            kms_key_name = customer_managed_encryption.value
          }
        }
      }
    }

    dynamic "user_managed" {
      for_each = length(var.replication_locations) == 0 ? [] : [var.replication_locations]
      content {
        dynamic "replicas" {
          for_each = user_managed.value
          content {
            location = replicas.value
          }
        }
      }
    }
  }
}

resource "google_project_iam_custom_role" "secret" {
  for_each = var.secrets

  role_id     = "infrar_secret_${substr(replace(each.value.name, "-", "_"), 0, 40)}_${substr(sha1(each.value.name), 0, 8)}"
  title       = "infrar secret ${each.value.name}"
  description = "What the ${var.project} ${var.environment} code does with secret ${each.value.name}."
  permissions = sort(each.value.permissions)
}

resource "google_secret_manager_secret_iam_member" "access" {
  for_each = local.grants

  secret_id = google_secret_manager_secret.this[each.value.secret].id
  role      = google_project_iam_custom_role.secret[each.value.secret].name
  member    = each.value.member
}

# Per service: a custom role per secret it uses, with what its code does there alone.
locals {
  service_secrets = merge({}, [
    for name, grant in var.service_grants : {
      for key, permissions in grant.resources : "${name} ${key}" => {
        service     = name
        secret      = key
        member      = grant.principal
        permissions = sort(permissions)
      } if length(permissions) > 0
    }
  ]...)
}

resource "google_project_iam_custom_role" "service_secret" {
  for_each = local.service_secrets

  role_id     = "infrar_${substr(sha1("${each.value.service}/${var.secrets[each.value.secret].name}/secret"), 0, 24)}"
  title       = "infrar secret ${var.secrets[each.value.secret].name} ${each.value.service}"
  description = "What the ${each.value.service} service of ${var.project} ${var.environment} does with secret ${var.secrets[each.value.secret].name}."
  permissions = each.value.permissions
}

resource "google_secret_manager_secret_iam_member" "service" {
  for_each = local.service_secrets

  secret_id = google_secret_manager_secret.this[each.value.secret].id
  role      = google_project_iam_custom_role.service_secret[each.key].name
  member    = each.value.member
}

output "secret_names" {
  description = "Physical secret names, by logical name."
  value       = { for key, secret in google_secret_manager_secret.this : key => secret.secret_id }
}

output "secret_ids" {
  description = "Full resource names of the secrets, by logical name."
  value       = { for key, secret in google_secret_manager_secret.this : key => secret.name }
}

output "secret_roles" {
  description = "The custom role of each secret, by logical name."
  value       = { for key, role in google_project_iam_custom_role.secret : key => role.name }
}
